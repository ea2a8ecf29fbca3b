"""URLs of the token pages."""

from django.urls import path

from tokens import views

app_name = "tokens"

urlpatterns = [
    path("tokens/", views.token_list, name="list"),
    path("tokens/new/", views.token_new, name="new"),
    path("tokens/new/permissions/", views.token_new_permissions, name="new-permissions"),
    path("tokens/resources/", views.resource_picker, name="resource-picker"),
    path("tokens/<int:token_id>/created/", views.token_reveal, name="reveal"),
    path("tokens/<int:token_id>/edit/", views.token_edit, name="edit"),
    path("tokens/<int:token_id>/delete/", views.token_delete, name="delete"),
    path("tokens/<int:token_id>/row/", views.token_row, name="row"),
    path("a/<slug:slug>/tokens/", views.account_token_list, name="account-list"),
]
