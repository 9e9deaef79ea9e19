import strato

app = strato.App("cold")
api = app.http()


@api.post("/notes")
def create(req):
    return 201, {"got": req.json()}


handler = app.lambda_handler
