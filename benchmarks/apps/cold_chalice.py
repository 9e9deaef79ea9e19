from chalice import Chalice

app = Chalice(app_name="cold")


@app.route("/notes", methods=["POST"])
def create():
    return {"got": app.current_request.json_body}


handler = app
