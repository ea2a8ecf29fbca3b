"""URLs of the token pages (`tokens:`) and of the event log (`events:`, config/urls.py)."""

from django.urls import path

from tokens.publishers import views as publishers
from tokens.sso import views as sso_views
from tokens.views import detail, edit, events, form, lists, policies, roll, wizard

app_name = "tokens"

urlpatterns = [
    path("tokens/", lists.token_list, name="list"),
    path("tokens/new/", wizard.token_new, name="new"),
    path("tokens/new/permissions/", wizard.token_new_permissions, name="new-permissions"),
    path("tokens/new/name/", wizard.token_name_check, name="name-check"),
    path("tokens/resources/", form.resource_picker, name="resource-picker"),
    path("tokens/<int:token_id>/created/", wizard.token_reveal, name="reveal"),
    path("tokens/<int:token_id>/", detail.token_detail, name="detail"),
    path("tokens/<int:token_id>/edit/", edit.token_edit, name="edit"),
    path("tokens/<int:token_id>/roll/", roll.token_roll_page, name="roll"),
    path("tokens/<int:token_id>/rolled/", wizard.token_reveal, {"rolled": True}, name="rolled"),
    path("tokens/<int:token_id>/delete/", edit.token_delete, name="delete"),
    path(
        "tokens/<int:token_id>/sso/<slug:slug>/",
        sso_views.token_sso_authorize_view,
        name="sso-authorize",
    ),
    path("tokens/<int:token_id>/row/", edit.token_row, name="row"),
    path("a/<slug:slug>/tokens/", lists.account_token_list, name="account-list"),
    path("a/<slug:slug>/policies/", policies.account_policies, name="account-policies"),
    path("a/<slug:slug>/publishers/", publishers.publishers_page, name="publishers"),
    path("a/<slug:slug>/publishers/test/", publishers.publishers_test, name="publishers-test"),
    path("a/<slug:slug>/publishers/new/", publishers.publisher_new, name="publisher-new"),
    path(
        "a/<slug:slug>/publishers/<int:publisher_id>/edit/",
        publishers.publisher_edit,
        name="publisher-edit",
    ),
    path(
        "a/<slug:slug>/publishers/<int:publisher_id>/delete/",
        publishers.publisher_remove,
        name="publisher-delete",
    ),
]

# The event log (governance), included under its own namespace: `events:event-log`.
event_log_patterns = (
    [path("a/<slug:slug>/events/", events.event_log, name="event-log")],
    "events",
)
