"""The webhook endpoint form of the page (SPEC 19); the service does the checking."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from tokens.webhooks.constants import MAX_URL_LENGTH, WebhookEventType
from tokens.webhooks.models import WebhookEndpoint


class WebhookForm(forms.Form):
    """URL, event types, on/off. Its errors are the service's, on the same field names."""

    url = forms.CharField(
        label="Endpoint URL",
        max_length=MAX_URL_LENGTH,
        help_text="https://… on a public address; Keyward POSTs each event to it.",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/keyward-webhooks"}),
    )
    events = forms.MultipleChoiceField(
        label="Events",
        choices=WebhookEventType.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one event type."},
    )
    enabled = forms.BooleanField(label="Enabled", required=False, initial=True)

    @classmethod
    def initial_for(cls, endpoint: WebhookEndpoint) -> dict[str, object]:
        return {"url": endpoint.url, "events": endpoint.event_types, "enabled": endpoint.enabled}

    def add_service_errors(self, error: ValidationError) -> None:
        """Show the service's refusal under the field it names."""
        for field, messages in error.message_dict.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
