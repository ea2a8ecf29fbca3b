from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in/", views.sign_in, name="sign-in"),
    path("sign-out/", views.sign_out, name="sign-out"),
    path("a/<slug:slug>/", views.overview, name="overview"),
    path("a/<slug:slug>/plan/", views.plan, name="plan"),
    path("a/<slug:slug>/members/", views.members, name="members"),
    path("a/<slug:slug>/members/<int:membership_id>/role/", views.member_role, name="member-role"),
    path(
        "a/<slug:slug>/members/<int:membership_id>/remove/",
        views.member_remove,
        name="member-remove",
    ),
    path("profile/", views.profile, name="profile"),
    path("sudo/", views.sudo, name="sudo"),
]
