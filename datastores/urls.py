from django.urls import include, path

from . import file_views, views

datastore = "workspaces/<str:workspace_name>/datastores/<str:name>/"

urlpatterns = [
    path("", views.home, name="home"),
    path("workspaces/", views.workspace_list, name="workspace_list"),
    path("workspaces/<str:workspace_name>/datastores/", views.datastore_list, name="datastore_list"),
    path("workspaces/<str:workspace_name>/new-datastore/", views.datastore_form, name="datastore_new"),
    path(datastore, views.datastore_detail, name="datastore_detail"),
    path(datastore + "authentication/", views.datastore_form, name="datastore_edit_auth"),
    path(datastore + "test-connection/", views.datastore_test_connection, name="datastore_test_connection"),
    path(datastore + "default/", views.datastore_set_default, name="datastore_set_default"),
    path(datastore + "unregister/", views.datastore_unregister, name="datastore_unregister"),
    path(datastore + "browse/", file_views.datastore_browse, name="datastore_browse"),
    path(datastore + "files/<path:file_path>", file_views.datastore_file, name="datastore_file"),
    path(datastore + "folder.zip", file_views.datastore_folder_zip, name="datastore_folder_zip"),
    path(datastore + "delete-file/", file_views.datastore_delete_file, name="datastore_delete_file"),
    path(datastore + "new-folder/", file_views.datastore_new_folder, name="datastore_new_folder"),
    path(datastore + "tables/", include("datastores.sql_urls")),
]
