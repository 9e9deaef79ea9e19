from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


def hello(request):
    name = request.path_params["name"]
    return JSONResponse({"hello": name, "n": len(name)})


async def hello_async(request):
    name = request.path_params["name"]
    return JSONResponse({"hello": name, "n": len(name)})


app = Starlette(routes=[Route("/hello/{name}", hello), Route("/async/hello/{name}", hello_async)])
