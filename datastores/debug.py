"""What a debug page (DEBUG on) may show: nothing that can hold a secret.

Django's SafeExceptionReporterFilter hides settings by name and the POST parameters views
mark as sensitive. This filter also hides settings that carry credentials inside a URL or a
connection string, and every local variable of a frame outside Django itself: the studio's
and the client libraries' frames hold connections, credentials, signed URLs, tokens and
passwords. The reporter redacts the exception's text the way logs.py redacts log lines.
"""

from __future__ import annotations

import re
from typing import Any

from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from .logs import redact


class StudioExceptionReporterFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile(
        "API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|AUTH|CONNECTION|DATABASE|DSN|URL|CREDENTIAL", flags=re.I
    )

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Any:
        module = str(tb_frame.f_globals.get("__name__", ""))
        if module.startswith("django.") and not module.startswith("django_"):
            return super().get_traceback_frame_variables(request, tb_frame)
        return [(name, self.cleansed_substitute) for name in tb_frame.f_locals]

    def get_post_parameters(self, request: Any) -> Any:
        """Every POST parameter is hidden: any form may carry a secret."""
        if request is None:
            return {}
        return dict.fromkeys(request.POST, self.cleansed_substitute)


class StudioExceptionReporter(ExceptionReporter):
    def get_traceback_data(self) -> dict[str, Any]:
        data = super().get_traceback_data()
        if data.get("exception_value"):
            data["exception_value"] = redact(str(data["exception_value"]))
        for frame in data.get("frames", []):
            if frame.get("exc_cause") is not None:
                frame["exc_cause"] = redact(str(frame["exc_cause"]))
        return data

    def get_traceback_text(self) -> Any:
        return redact(str(super().get_traceback_text()))

    def get_traceback_html(self) -> Any:
        return redact(str(super().get_traceback_html()))
