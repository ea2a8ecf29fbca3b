"""The URL names allauth's login stages redirect to (no namespace: allauth reverses them)."""

from django.urls import path

from accounts import views
from accounts.factors import sign_in_views

urlpatterns = [
    # Where allauth sends a sign-in to start again (an expired or abandoned second step).
    path("sign-in/", views.sign_in, name="account_login"),
    path("sign-in/two-factor/", sign_in_views.second_factor, name="mfa_authenticate"),
]
