from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("auth/login/", views.login_view, name="login"),
    path("auth/logout/", views.logout_view, name="logout"),
    path("project/switch/", views.switch_project, name="switch-project"),
    path("", include("images.urls")),
]
