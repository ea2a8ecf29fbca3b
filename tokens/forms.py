"""Forms of the token pages: parse what the browser sent; the services judge it.

The forms only turn POST data into the services' arguments. Every rule (scopes
the role allows, resources in reach, plan limits, expiry in the future) lives in
tokens.services and tokens.validation, and their TokenValidationError is mapped
back onto these fields by `add_service_errors`, so a tampered form gets the same
answer as the API.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta
from typing import Any, cast

from django import forms
from django.urls import reverse
from django.utils import timezone

from accounts.constants import Role
from accounts.models import Account
from tokens.constants import DEFAULT_EXPIRY, EXPIRY_CHOICES_DAYS, MAX_NAME_LENGTH
from tokens.kinds import BY_KIND, Kind
from tokens.models import TokenType
from tokens.permissions import AUTOMATION_ROLES, DEFAULT_AUTOMATION_ROLE, SCOPES
from tokens.policies.rules import IDLE_RANGE, LIFETIME_RANGE, Policy
from tokens.records.rules import MAX_RECORD_RULES
from tokens.validation import ALL, TokenValidationError, clean_allowed_ips

RESOURCE_MODES = (("all", "All"), ("selected", "Selected"))
EXPIRATION_CHOICES = (
    *((str(days), f"{days} days") for days in EXPIRY_CHOICES_DAYS),
    ("custom", "Custom date"),
    ("never", "Never"),
)
DEFAULT_EXPIRATION = str(DEFAULT_EXPIRY.days)


class IdListField(forms.Field):
    """A list of whole numbers from repeated inputs (checkboxes of resource ids).

    Ids are not checked against a list of choices here: the service checks each
    one is in the token's reach and says which are not.
    """

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        if isinstance(value, str):
            value = [value]
        try:
            return sorted({int(item) for item in value})
        except (TypeError, ValueError):
            raise forms.ValidationError("Ids must be whole numbers.") from None


def rule_rows_from(data: Any) -> list[dict[str, Any]]:
    """The record rule rows a form sent (`rule-N-name`, `rule-N-types`), blank ones too."""
    rows = []
    for n in range(MAX_RECORD_RULES + 1):  # one past the limit, so the service can refuse it
        if f"rule-{n}-name" not in data:
            continue
        types = data.getlist(f"rule-{n}-types") if hasattr(data, "getlist") else []
        rows.append({"name": str(data.get(f"rule-{n}-name") or "").strip(), "types": types})
    return rows


def resource_field_name(kind: Kind) -> str:
    return f"{kind}_ids"


def resource_mode_name(kind: Kind) -> str:
    return f"{kind}_mode"


class TokenPermissionsForm(forms.Form):
    """Name, scopes, resources, IP allow-list and TLS management (create and edit)."""

    name = forms.CharField(
        label="Name",
        max_length=MAX_NAME_LENGTH,
        required=False,  # the service explains what a name is for
        help_text="What the token is for, e.g. “CI deploys” or “Terraform”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    scopes = forms.MultipleChoiceField(
        label="Scopes",
        choices=[(scope, scope) for scope in SCOPES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    allowed_ips = forms.CharField(
        label="IP allow-list (optional)",
        required=False,
        help_text="One IPv4 or IPv6 address or CIDR range per line, e.g. 203.0.113.0/24. "
        "Leave empty to allow any address.",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
    )
    tls_access = forms.BooleanField(
        label="TLS management",
        required=False,
        help_text="May renew every certificate of the account, whatever its role.",
    )

    # TokenValidationError keys -> form fields (the rest become form-wide errors).
    SERVICE_FIELDS: dict[str, str] = {
        "name": "name",
        "scopes": "scopes",
        "allowed_ips": "allowed_ips",
        "tls_access": "tls_access",
        **{f"resources.{kind}": resource_field_name(kind) for kind in Kind},
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind in Kind:
            self.fields[resource_mode_name(kind)] = forms.ChoiceField(
                label=BY_KIND[kind].label,
                choices=RESOURCE_MODES,
                initial="all",
                required=False,
                widget=forms.RadioSelect,
            )
            self.fields[resource_field_name(kind)] = IdListField(
                label=f"Selected {BY_KIND[kind].label.lower()}", required=False
            )

    def resources(self) -> dict[str, Any]:
        """The services' `resources` argument: per kind "all" or the selected ids."""
        data = self.cleaned_data
        return {
            str(kind): ALL
            if data.get(resource_mode_name(kind)) != "selected"
            else data.get(resource_field_name(kind)) or []
            for kind in Kind
        }

    def record_rules(self) -> list[dict[str, Any]]:
        """The services' `record_rules`: the rule rows with a name or a type (SPEC 14)."""
        return [row for row in rule_rows_from(self.data) if row["name"] or row["types"]]

    def add_service_errors(
        self, error: TokenValidationError, *, keep_form_errors: bool = False
    ) -> None:
        """Show a service's per-field messages beside the matching fields.

        `keep_form_errors`: a field the form itself refused keeps only its own message.
        """
        for key, messages in error.message_dict.items():
            field = self.SERVICE_FIELDS.get(key)
            if field not in self.fields:
                field = None
            if keep_form_errors and (field or "__all__") in self.errors:
                continue
            for message in messages:
                self.add_error(field, message)


class TokenEditForm(TokenPermissionsForm):
    """Edit permissions: the permissions, and an earlier expiry (never a later one)."""

    expires_on = forms.DateField(
        label="Bring the expiry forward to",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Optional. The token stops working at the end of this day (UTC). An edit "
        "can bring the expiry earlier, never later.",
    )

    SERVICE_FIELDS = {**TokenPermissionsForm.SERVICE_FIELDS, "expires_at": "expires_on"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["expires_on"].widget.attrs["min"] = timezone.localdate().isoformat()

    def expires_at(self) -> datetime | None:
        """The earlier expiry asked for (the end of that day), or None to keep it."""
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        return datetime.combine(day, time.max, tzinfo=timezone.get_current_timezone())


class TokenCreateForm(TokenPermissionsForm):
    """The create-token wizard: the permissions plus type, account, role and expiry."""

    token_type = forms.ChoiceField(
        label="Type",
        choices=TokenType.choices,
        initial=TokenType.USER,
        widget=forms.RadioSelect,
    )
    account = forms.TypedChoiceField(
        label="Account", coerce=int, required=False, empty_value=None, choices=()
    )
    role = forms.ChoiceField(
        label="Role",
        choices=[(role, Role(role).label) for role in AUTOMATION_ROLES],
        initial=DEFAULT_AUTOMATION_ROLE,
        required=False,
        help_text="Caps everything the token can do, whatever its scopes.",
    )
    expiration = forms.ChoiceField(
        label="Expiration",
        choices=EXPIRATION_CHOICES,
        initial=DEFAULT_EXPIRATION,
        widget=forms.RadioSelect,
    )
    expires_on = forms.DateField(
        label="Expiry date",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The token stops working at the end of this day (UTC).",
    )

    SERVICE_FIELDS = {
        **TokenPermissionsForm.SERVICE_FIELDS,
        "type": "token_type",
        "account": "account",
        "role": "role",
        "expires_at": "expires_on",
    }

    def __init__(
        self, *args: Any, superuser_accounts: Iterable[Account] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        accounts = list(superuser_accounts)
        cast(forms.TypedChoiceField, self.fields["account"]).choices = [
            (account.pk, account.name) for account in accounts
        ]
        if accounts:
            self.fields["account"].initial = accounts[0].pk
        else:
            # Only superusers (of some account) create automation tokens.
            token_type = cast(forms.ChoiceField, self.fields["token_type"])
            token_type.choices = [(TokenType.USER, TokenType.USER.label)]
        # A name already in use gets a warning as it is typed (htmx; the page shows it too).
        self.fields["name"].widget.attrs.update(
            {
                "hx-get": reverse("tokens:name-check"),
                "hx-trigger": "input changed delay:400ms",
                "hx-target": "#name-warning",
                "hx-include": "[name=token_type]:checked, [name=token_type][type=hidden], "
                "[name=account]",
                "aria-describedby": "id_name-help name-warning",
            }
        )
        if not self.is_bound or self.data.get("expiration") != "custom":
            self.fields["expires_on"].widget.attrs["min"] = timezone.localdate().isoformat()

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("token_type") == TokenType.AUTOMATION and not data.get("account"):
            self.add_error("account", "Choose the account the token acts in.")
        if data.get("expiration") == "custom" and not data.get("expires_on"):
            self.add_error("expires_on", "Choose the date the token expires.")
        return data

    def expires_at(self) -> datetime | None:
        """The chosen expiry: N days from now, the end of a chosen day (UTC), or None."""
        choice = self.cleaned_data["expiration"]
        if choice == "never":
            return None
        if choice == "custom":
            day = self.cleaned_data["expires_on"]
            return datetime.combine(day, time.max, tzinfo=timezone.get_current_timezone())
        return timezone.now() + timedelta(days=int(choice))

    def add_service_errors(
        self, error: TokenValidationError, *, keep_form_errors: bool = False
    ) -> None:
        if "expires_at" in error.message_dict and self.cleaned_data.get("expiration") != "custom":
            self.SERVICE_FIELDS = {**self.SERVICE_FIELDS, "expires_at": "expiration"}
        super().add_service_errors(error, keep_form_errors=keep_form_errors)


class AccountPoliciesForm(forms.Form):
    """The four token policies of an account (SPEC 15); an empty field is a policy off."""

    max_lifetime_days = forms.IntegerField(
        label="Maximum lifetime",
        required=False,
        min_value=LIFETIME_RANGE[0],
        max_value=LIFETIME_RANGE[1],
        help_text=(
            f"Days, {LIFETIME_RANGE[0]} to {LIFETIME_RANGE[1]}. No token acting in the account "
            "may expire later than this after its creation; “never” is not offered. "
            "Empty: no limit."
        ),
    )
    max_idle_days = forms.IntegerField(
        label="Maximum idle time",
        required=False,
        min_value=IDLE_RANGE[0],
        max_value=IDLE_RANGE[1],
        help_text=(
            f"Days, {IDLE_RANGE[0]} to {IDLE_RANGE[1]}. A token unused this long (never used: "
            "since its creation) stops working here; the stale-token cleanup revokes such "
            "automation tokens. Empty: no limit."
        ),
    )
    automation_requires_ip_allow_list = forms.BooleanField(
        label="Automation tokens need an IP allow-list",
        required=False,
        help_text="Automation tokens of the account must have an IP allow-list to work here.",
    )
    allowed_networks = forms.CharField(
        label="Allowed networks",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "mono"}),
        help_text=(
            "One CIDR or address per line, IPv4 or IPv6. Every token works in this account "
            "only from these networks, on top of its own allow-list. Empty: any network."
        ),
    )

    require_2fa = forms.BooleanField(
        label="Members need two-factor authentication",
        required=False,
        help_text=(
            "A member without a second factor sees only a page asking them to add one, and "
            "their personal tokens are refused here until they do. Automation tokens are "
            "unaffected. You need a second factor yourself to turn it on."
        ),
    )

    def __init__(self, *args: Any, person: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.person = person  # who saves: turning two-factor on needs one of their own

    def clean_require_2fa(self) -> bool:
        wanted = bool(self.cleaned_data.get("require_2fa"))
        if wanted and self.person is not None and not self.person.has_second_factor:
            raise forms.ValidationError(
                "Add a second factor to your own sign-in first (your Security page): "
                "otherwise this would lock you out of the account."
            )
        return wanted

    def clean_allowed_networks(self) -> list[str]:
        try:
            return clean_allowed_ips(self.cleaned_data.get("allowed_networks") or "")
        except TokenValidationError as error:
            raise forms.ValidationError(error.message_dict["allowed_ips"]) from None

    def policy(self) -> Policy:
        """The policy entered (the form must be valid)."""
        data = self.cleaned_data
        return Policy(
            max_lifetime_days=data["max_lifetime_days"],
            max_idle_days=data["max_idle_days"],
            automation_requires_ip_allow_list=bool(data["automation_requires_ip_allow_list"]),
            allowed_networks=tuple(data["allowed_networks"]),
            require_2fa=bool(data["require_2fa"]),
        )

    @staticmethod
    def initial_for(policy: Policy) -> dict[str, Any]:
        return {
            "max_lifetime_days": policy.max_lifetime_days,
            "max_idle_days": policy.max_idle_days,
            "automation_requires_ip_allow_list": policy.automation_requires_ip_allow_list,
            "allowed_networks": "\n".join(policy.allowed_networks),
            "require_2fa": policy.require_2fa,
        }
