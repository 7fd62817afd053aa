from django.urls import include, path

from . import file_views, token_views, views, workspace_views

datastore = "workspaces/<str:workspace_name>/datastores/<str:name>/"

urlpatterns = [
    path("", views.home, name="home"),
    path("workspaces/", views.workspace_list, name="workspace_list"),
    path("tokens/", token_views.token_list, name="token_list"),
    path("tokens/<int:token_id>/revoke/", token_views.token_revoke, name="token_revoke"),
    path("workspaces/<str:workspace_name>/scripts/", token_views.workspace_scripts, name="workspace_scripts"),
    path(
        "workspaces/<str:workspace_name>/config.json", token_views.workspace_config_json, name="workspace_config_json"
    ),
    path("workspaces/<str:workspace_name>/datastores/", views.datastore_list, name="datastore_list"),
    path("workspaces/<str:workspace_name>/members/", workspace_views.workspace_members, name="workspace_members"),
    path(
        "workspaces/<str:workspace_name>/members/<str:username>/role/",
        workspace_views.workspace_member_role,
        name="workspace_member_role",
    ),
    path(
        "workspaces/<str:workspace_name>/members/<str:username>/remove/",
        workspace_views.workspace_member_remove,
        name="workspace_member_remove",
    ),
    path("workspaces/<str:workspace_name>/activity/", workspace_views.workspace_activity, name="workspace_activity"),
    path(
        "workspaces/<str:workspace_name>/activity.csv",
        workspace_views.workspace_activity_csv,
        name="workspace_activity_csv",
    ),
    path("workspaces/<str:workspace_name>/new-datastore/", views.datastore_form, name="datastore_new"),
    path(datastore, views.datastore_detail, name="datastore_detail"),
    path(datastore + "authentication/", views.datastore_form, name="datastore_edit_auth"),
    path(datastore + "test-connection/", views.datastore_test_connection, name="datastore_test_connection"),
    path(datastore + "default/", views.datastore_set_default, name="datastore_set_default"),
    path(datastore + "unregister/", views.datastore_unregister, name="datastore_unregister"),
    path(datastore + "browse/", file_views.datastore_browse, name="datastore_browse"),
    path(datastore + "files/<path:file_path>", file_views.datastore_file, name="datastore_file"),
    path(datastore + "direct/<path:file_path>", file_views.datastore_direct_upload, name="datastore_direct_upload"),
    path(datastore + "direct-status/", file_views.datastore_direct_status, name="datastore_direct_status"),
    path(
        datastore + "direct-outcome/<path:file_path>",
        file_views.datastore_direct_outcome,
        name="datastore_direct_outcome",
    ),
    path(datastore + "cors/", file_views.datastore_cors_allow, name="datastore_cors_allow"),
    path(datastore + "folder.zip", file_views.datastore_folder_zip, name="datastore_folder_zip"),
    path(datastore + "delete-file/", file_views.datastore_delete_file, name="datastore_delete_file"),
    path(datastore + "new-folder/", file_views.datastore_new_folder, name="datastore_new_folder"),
    path(datastore + "delete-folder/", file_views.datastore_delete_folder, name="datastore_delete_folder"),
    path(datastore + "selection.zip", file_views.datastore_selection_zip, name="datastore_selection_zip"),
    path(datastore + "move/", file_views.datastore_move, name="datastore_move"),
    path(datastore + "preview/", file_views.datastore_preview, name="datastore_preview"),
    path(datastore + "preview/image", file_views.datastore_preview_image, name="datastore_preview_image"),
    path(datastore + "tables/", include("datastores.sql_urls")),
]
