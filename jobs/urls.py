from django.urls import path

from . import views

urlpatterns = [
    path("workspaces/<str:workspace_name>/jobs/", views.job_list, name="job_list"),
    path("workspaces/<str:workspace_name>/jobs/<int:job_id>/cancel/", views.job_cancel, name="job_cancel"),
    path("workspaces/<str:workspace_name>/jobs/<int:job_id>/zip/", views.job_result, name="job_result"),
    path("workspaces/<str:workspace_name>/test-all/", views.datastores_test_all, name="datastores_test_all"),
    path("workspaces/<str:workspace_name>/datastores/<str:name>/copy/", views.datastore_copy, name="datastore_copy"),
    path(
        "workspaces/<str:workspace_name>/datastores/<str:name>/delete-folder-job/",
        views.datastore_delete_folder_job,
        name="datastore_delete_folder_job",
    ),
    path(
        "workspaces/<str:workspace_name>/datastores/<str:name>/zip-job/",
        views.datastore_zip_job,
        name="datastore_zip_job",
    ),
]
