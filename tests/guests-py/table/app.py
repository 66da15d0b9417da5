"""An app whose module-level code builds a large table: componentize-py runs it once, when
the component is built, so every container starts with the table already in its memory."""

import fnhost

app = fnhost.App()

#: 200 000 entries, built at build time (pre-initialization), not per container.
TABLE = {key: key * key for key in range(200_000)}


@app.function(max_containers=2000)
def lookup(key=0):
    return TABLE[key]
