import gc

from portal.app import create_app

app = create_app()
# The modules, tables and translations loaded so far live as long as the process: keep them
# out of the cyclic garbage collector, whose full passes over them cost ~5 ms per checkout.
gc.freeze()
