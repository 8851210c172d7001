from django.urls import include, path

from . import health, views

# A BadRequest raised anywhere (a forged page cursor…): a 400 page, or the API's error body.
handler400 = "dashboard.hostile.bad_request"

urlpatterns = [
    # The OpenStack APIs the `openstack` client talks to (see docs/api.md), first, so that their
    # requests are not tried against every page's pattern.
    path("image/", include("images.api_urls")),
    path("identity/", include("dashboard.keystone")),
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("auth/login/", views.login_view, name="login"),
    path("auth/logout/", views.logout_view, name="logout"),
    path("project/switch/", views.switch_project, name="switch-project"),
    path("", include("images.urls")),
]
