import strato

app = strato.App("hello")
api = app.http()


@api.get("/hello/{name}")
def hello(req, name):
    return {"hello": name, "n": len(name)}


@api.get("/async/hello/{name}")
async def hello_async(req, name):
    return {"hello": name, "n": len(name)}
