"""URLs of the webhooks pages (SPEC 19); config.urls includes them."""

from django.urls import path

from tokens.webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("a/<slug:slug>/webhooks/", views.webhooks_page, name="endpoints"),
    path("a/<slug:slug>/webhooks/<int:endpoint_id>/", views.webhook_page, name="endpoint"),
]
