import strato

app = strato.App("hello")
api = app.http()


@api.get("/hello/{name}")
def hello(req, name):
    return {"hello": name, "n": len(name)}
