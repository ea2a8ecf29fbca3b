"""URLs of the event log page (governance)."""

from django.urls import path

from tokens.views import events

app_name = "events"

urlpatterns = [
    path("a/<slug:slug>/events/", events.event_log, name="event-log"),
]
