from .selectors import workspace_current


def current_workspace(request):
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"current_workspace": workspace_current(request)}
