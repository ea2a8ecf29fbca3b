from django.contrib import admin
from django.urls import include, path, re_path

from accounts.sso.provider import sso_callback
from config.favicon import favicon
from config.health import healthz
from tokens.api import lean_urls
from tokens.api import urls as api_urls
from tokens.api.errors import api_not_found
from tokens.urls import event_log_patterns

admin.site.site_header = "Keyward support"
admin.site.site_title = "Keyward support"
admin.site.index_title = "Tokens, accounts and the event log"
# The app sidebar took 300 px of a 1280 px screen from every table; breadcrumbs and
# the index page are the navigation.
admin.site.enable_nav_sidebar = False

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    *lean_urls(),  # the API's reads: first, as integrations call them most
    path("api/v1/", api_urls()),
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", admin.site.urls),
    re_path(r"^api(?:/|$)(?s:.*)", api_not_found),  # every other path under /api/: JSON 404
    path("", include("accounts.urls")),
    # Single sign-on's redirect URI (allauth's name: its openid_connect adapter reverses it).
    path(
        "accounts/oidc/<str:provider_id>/login/callback/",
        sso_callback,
        name="openid_connect_callback",
    ),
    path("", include("accounts.factors.urls")),  # the names allauth's login stages use
    path("", include(event_log_patterns)),
    path("", include("tokens.urls")),
    path("", include("tokens.webhooks.urls")),
]
