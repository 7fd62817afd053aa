from django.contrib import admin
from django.urls import include, path

from datastores.api import arm, identity, v1

# Azure ML's datastore routes, as its SDK v2 addresses them (see datastores/api/arm.py).
ARM_WORKSPACE = (
    "subscriptions/<str:subscription>/resourceGroups/<str:resource_group>/providers/"
    "Microsoft.MachineLearningServices/workspaces/<str:workspace>/datastores"
)

urlpatterns = [
    path("api/v1/", v1.urls()),
    path("api/identity/token", identity.identity_token, name="identity_token"),
    path(ARM_WORKSPACE, arm.datastore_collection, name="arm_datastores"),
    path(ARM_WORKSPACE + "/<str:name>", arm.datastore_item, name="arm_datastore"),
    path(ARM_WORKSPACE + "/<str:name>/listSecrets", arm.datastore_list_secrets, name="arm_datastore_secrets"),
    path("", include("accounts.urls")),  # sign-in and sign-out, before the admin's login
    path("admin/", admin.site.urls),
    path("", include("jobs.urls")),
    path("", include("datastores.urls")),
]
