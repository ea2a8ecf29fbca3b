"""URLs of the event log page (governance)."""

from django.urls import path

from tokens import event_views

app_name = "events"

urlpatterns = [
    path("a/<slug:slug>/events/", event_views.event_log, name="event-log"),
]
