from django.urls import path

from accounts import views
from accounts.factors import sign_in_views
from accounts.factors import views as security
from accounts.sso import views as sso

app_name = "accounts"

urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in/", views.sign_in, name="sign-in"),
    path("sign-in/passkey/", sign_in_views.passkey_sign_in, name="sign-in-passkey"),
    path("sign-in/sso/", sso.sso_sign_in, name="sign-in-sso"),
    path("sign-out/", views.sign_out, name="sign-out"),
    path("a/<slug:slug>/", views.overview, name="overview"),
    path("a/<slug:slug>/plan/", views.plan, name="plan"),
    path("a/<slug:slug>/members/", views.members, name="members"),
    path("a/<slug:slug>/sso/", sso.sso_settings, name="sso"),
    path("a/<slug:slug>/sso/sign-in/", sso.sso_account_sign_in, name="sso-sign-in"),
    path("a/<slug:slug>/members/<int:membership_id>/role/", views.member_role, name="member-role"),
    path(
        "a/<slug:slug>/members/<int:membership_id>/remove/",
        views.member_remove,
        name="member-remove",
    ),
    path("profile/", views.profile, name="profile"),
    path("sudo/", views.sudo, name="sudo"),
    path("security/", security.security, name="security"),
    path("security/authenticator-app/", security.totp_add_page, name="security-totp"),
    path("security/passkeys/add/", security.passkey_add_page, name="security-passkey"),
    path(
        "security/factors/<int:factor_id>/remove/",
        security.factor_remove_page,
        name="security-remove",
    ),
    path("security/recovery-codes/", security.recovery_codes_page, name="security-recovery-codes"),
]
