from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("accounts.urls")),  # sign-in and sign-out, before the admin's login
    path("admin/", admin.site.urls),
    path("", include("datastores.urls")),
]
