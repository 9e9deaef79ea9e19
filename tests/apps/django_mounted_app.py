"""Django's ASGI handler mounted under /shop: a view reading the query list, a cookie and the mount point
(Django's SCRIPT_NAME from the scope's root_path), one setting a cookie, one raising."""

from __future__ import annotations

import django
from django.conf import settings

if not settings.configured:  # the test kit may load this module again in the same process
    settings.configure(
        DEBUG=False,
        SECRET_KEY="test-only",
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["*"],
        MIDDLEWARE=[],
        INSTALLED_APPS=[],
        DATABASES={},
    )
    django.setup()

from django.core.asgi import get_asgi_application
from django.http import HttpResponse, JsonResponse
from django.urls import path

import strato


def items(request):
    response = JsonResponse(
        {
            "tags": request.GET.getlist("tag"),
            "theme": request.COOKIES.get("theme"),
            "script_name": request.META["SCRIPT_NAME"],
            "path_info": request.path_info,
            "full_path": request.path,
        }
    )
    response.set_cookie("seen", "1")
    return response


def upload(request):
    return HttpResponse(request.body[::-1], content_type="application/octet-stream")


def broken(request):
    raise RuntimeError("failure inside django")


urlpatterns = [path("items/", items), path("upload/", upload), path("broken/", broken)]

app = strato.App("django-mounted")
api = app.http()
api.mount("/shop", get_asgi_application())
handler = app.lambda_handler
