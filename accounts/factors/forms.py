"""Forms of the second factors: they parse input; the services and allauth judge it."""

from __future__ import annotations

from typing import Any

from django import forms

from accounts.factors.services import PASSKEY_NAME_MAX_LENGTH

CODE_HELP = "The 6-digit code your authenticator app shows, or one of your recovery codes."


class CodeField(forms.CharField):
    """A one-time code as people type it: spaces and dashes are ignored."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 40)
        attrs = {
            "autocomplete": "one-time-code",
            "inputmode": "numeric",
            "autocapitalize": "off",
            "spellcheck": "false",
        }
        super().__init__(widget=forms.TextInput(attrs=attrs), **kwargs)

    def to_python(self, value: Any) -> str:
        text = super().to_python(value) or ""
        return "".join(ch for ch in text if ch not in " -\t")


class FactorForm(forms.Form):
    """A second factor: a code (authenticator app or recovery code), or a passkey's answer.

    Sign-in's second step and sudo mode. The passkey button fills `credential`
    (static/js/passkeys.js); the code field is for everything else.
    """

    code = CodeField(label="Code", required=False, help_text=CODE_HELP)
    credential = forms.JSONField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, has_app: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not has_app:  # a passkey and recovery codes: the code can only be one of those
            self.fields["code"].label = "Recovery code"
            self.fields["code"].help_text = "One of the recovery codes you saved."

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        nothing = not cleaned.get("code") and cleaned.get("credential") in (None, "", {})
        if nothing and not self.errors:
            raise forms.ValidationError(
                "Enter a code from your authenticator app or a recovery code, or use your passkey."
            )
        return cleaned


class TotpConfirmForm(forms.Form):
    """Setting up an authenticator app ends with its first code."""

    code = CodeField(
        label="Code from the app",
        help_text="Enter the 6-digit code the app shows for Keyward, to check it is set up.",
    )


class PasskeyAddForm(forms.Form):
    """A new passkey or security key: its name, and the authenticator's answer."""

    name = forms.CharField(
        label="Name",
        max_length=PASSKEY_NAME_MAX_LENGTH,
        help_text="Say which device it is, e.g. “Work laptop” or “YubiKey on my keyring”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    passwordless = forms.BooleanField(
        label="Sign in with it alone, without a password (a passkey)",
        required=False,
        initial=True,
        help_text="Untick for a security key you use after your password.",
    )
    credential = forms.JSONField(
        required=True,
        widget=forms.HiddenInput,
        error_messages={"required": "Your browser did not create a passkey. Try again."},
    )

    def clean_credential(self) -> dict[str, Any]:
        credential = self.cleaned_data["credential"]
        if not isinstance(credential, dict):
            raise forms.ValidationError("Your browser sent an answer Keyward cannot read.")
        return credential
