"""A Flask app served by `@fnhost.wsgi_app()`, written as a Modal user writes one: the image
pip-installs Flask by name (its MarkupSafe from the wheel the operator offers with
`PIP_FIND_LINKS`, see docs/python-packages.md), the factory imports Flask and returns the app."""

import fnhost

app = fnhost.App(name="py-flask", image=fnhost.Image.debian_slim().pip_install("flask"))


@app.function()
@fnhost.wsgi_app()
def notes():
    from flask import Flask, jsonify, request
    from markupsafe import escape

    web_app = Flask(__name__)
    kept = []

    @web_app.get("/")
    def index():
        return f"<p>{len(kept)} notes, newest: {escape(kept[-1] if kept else '<none>')}</p>"

    @web_app.post("/notes")
    def add():
        kept.append(request.json["text"])
        return jsonify(count=len(kept), at=request.url), 201

    return web_app
