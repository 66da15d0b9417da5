"""A Python test app of web endpoints written as Modal's `basic_web.py` writes them
(`@fnhost.fastapi_endpoint`), with FastAPI's binding: the query to the parameters, a JSON body
to the parameter annotated `dict`."""

import fnhost

app = fnhost.App("py-web")


@app.function()
@fnhost.fastapi_endpoint(docs=True)
def hello():
    return "Hello world!"


@app.function()
@fnhost.fastapi_endpoint(docs=True)
def greet(user: str) -> str:
    return f"Hello {user}!"


@app.function()
@fnhost.fastapi_endpoint(method="POST", docs=True)
def goodbye(data: dict) -> str:
    name = data.get("name") or "world"
    return f"Goodbye {name}!"


@app.function()
@fnhost.fastapi_endpoint(method="POST", label="tagged")
def tag_keys(data: dict, tag: str = "none"):
    """The body to `data`, the query's `tag` to `tag`."""
    return {"tag": tag, "keys": sorted(data)}


@app.function()
@fnhost.fastapi_endpoint(method="PUT")
def echo(body):
    """The only parameter, unannotated, of a PUT: the body, whatever its JSON."""
    return body


@app.function()
@fnhost.fastapi_endpoint(requires_proxy_auth=True, docs=False)
def expensive_secret():
    return "I didn't care for 'The Godfather'. It insists upon itself."
