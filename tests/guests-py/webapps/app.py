"""A Python test app of web endpoints that take whole requests, as Modal's `asgi_app` and
`wsgi_app` serve them: a Starlette app (ASGI) and a Bottle app (WSGI), both pip-installed by
the image, endpoints on class methods, as Modal's `basic_web.py` writes them, and a
`fastapi_endpoint` taking a pydantic model, as Modal's `fastapi_app.py` does.

Starlette's routes are `async def`: a `def` route runs in anyio's thread pool, and what needs
anyio's asyncio backend (a `StreamingResponse`'s task group) cannot load in the guest's
CPython, which has no `ssl` (see docs/limits.md)."""

from datetime import datetime, timezone

import fnhost

image = fnhost.Image.debian_slim().pip_install("starlette==1.10.0", "bottle==0.13.5", "pydantic==1.10.27")
app = fnhost.App("py-webapps", image=image)

with image.imports():
    import bottle
    from pydantic import BaseModel
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, PlainTextResponse
    from starlette.routing import Route

#: How many times this container built each app: once each, however many requests.
BUILT = {"starlette": 0, "bottle": 0}


@app.function()
@fnhost.asgi_app(label="shop")
def starlette_app():
    BUILT["starlette"] += 1

    async def item(request):
        return JSONResponse({
            "id": request.path_params["id"],
            "q": request.query_params.get("q"),
            "url": str(request.url),
            "agent": request.headers.get("x-agent"),
            "built": BUILT["starlette"],
        })

    async def create(request):
        body = await request.json()
        return JSONResponse({"created": body}, status_code=201, headers={"x-made": "yes"})

    async def upload(request):
        return PlainTextResponse(f"{len(await request.body())} bytes")

    return Starlette(routes=[
        Route("/items/{id:int}", item),
        Route("/items", create, methods=["POST"]),
        Route("/upload", upload, methods=["PUT"]),
    ])


@app.function()
@fnhost.wsgi_app()
def bottle_app():
    BUILT["bottle"] += 1
    web_app = bottle.Bottle()

    @web_app.get("/")
    def home():
        return "Hello Bottle World!"

    @web_app.post("/echo/<name>")
    def echo(name):
        return {"name": name, "json": bottle.request.json, "script": bottle.request.script_name,
                "built": BUILT["bottle"]}

    @web_app.get("/teapot")
    def teapot():
        bottle.response.status = 418
        bottle.response.set_header("x-kind", "green")
        return "short and stout"

    return web_app


class Item(BaseModel):
    """A body FastAPI validates, as Modal's `fastapi_app.py` takes one."""

    name: str
    size: int = 1


@app.function()
@fnhost.fastapi_endpoint(method="POST")
def order(item: Item, copies: int = 1):
    """The body is the one pydantic-typed parameter's; the query gives the others."""
    return {"item": item, "copies": copies, "is_item": isinstance(item, Item)}


@app.cls()
class WebApp:
    """Modal's `basic_web.py` class: its start time set once per container, in `enter`."""

    @fnhost.enter()
    def startup(self):
        self.start_time = datetime.now(timezone.utc)

    @fnhost.fastapi_endpoint(docs=True)
    def web(self):
        return {"start_time": self.start_time, "current_time": datetime.now(timezone.utc)}

    @fnhost.fastapi_endpoint(method="POST", label="greet")
    def greet(self, data: dict, punctuation: str = "!"):
        return f"Hello {data['name']}{punctuation}"
