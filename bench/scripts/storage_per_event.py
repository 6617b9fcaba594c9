#!/usr/bin/env python3
"""Bytes of SQLite file per delivered event: the server binary on a fresh file,
one product.create subscription to a local sink answering 200 "ok", N products
created through the API, every message delivered, the server stopped (SIGTERM:
the WAL is checkpointed on close), then the file's size.

usage: storage_per_event.py SERVER_BINARY N [load]  -> prints N, the live bytes of
the file (pages in use after a TRUNCATE checkpoint) and the bytes per table and
index (SQLite's dbstat, where the Python sqlite3 module has it). With `load`, each
product is the ~1.45 KB one of the bench's `load` part (load/traffic.rs) rather
than a name and a number.
"""
import http.server, json, os, signal, socket, subprocess, sys, tempfile, threading, time, urllib.request, base64
from concurrent.futures import ThreadPoolExecutor


class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(method, url, token=None, body=None):
    request = urllib.request.Request(url, method=method)
    if token:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"0:{token}".encode()).decode())
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, data, timeout=30) as response:
        text = response.read()
        return json.loads(text) if text else None


DESCRIPTION = (
    "Single-origin arabica from the highlands, roasted in small batches "
    "for espresso: notes of dark chocolate, toasted hazelnut and a hint of dried cherry. "
    "Grind fine just before brewing; 18 g in, 36 g out in 25 to 30 seconds. Store airtight, "
    "away from light and heat, and use within four weeks of the roast date printed on the bag. "
    "Sold by the kilogram in resealable valve bags; pallets of 240 bags on request. "
    "Roasted to order every Monday and Wednesday, shipped the day after roasting. "
    "Keep the valve side up; the beans degas for about a week after roasting. "
    "Each bag carries the lot number, the farm and the altitude it grew at, so a reorder "
    "can ask for the same lot while it lasts. Certified organic and fairly traded; "
    "the cooperative is paid above the market price and visited every harvest. "
    "Wholesale buyers get a sample bag of every new lot before it is listed, "
    "and cafés on a standing order are told a week ahead when a lot runs out.")


def load_product(n):
    """The product of the bench's `load` part (load/traffic.rs `product_body`)."""
    return {
        "name": f"Espresso beans, dark roast, 1 kg bag {n}", "number": f"L-{n}",
        "description": DESCRIPTION, "orderLineDescription": f"Espresso beans 1 kg (item {n})",
        "ean": f"7038010{n % 1_000_000:06}", "costExcludingVatCurrency": 112.5,
        "priceExcludingVatCurrency": 249.0, "priceIncludingVatCurrency": 311.25,
        "isInactive": False, "isStockItem": True, "stockOfGoods": float(n % 500), "weight": 1.05,
        "weightUnit": "kg", "productUnit": {"id": 1}, "vatType": {"id": 3}, "currency": {"id": 1},
        "department": {"id": 12}, "account": {"id": 3000}, "supplier": {"id": 4021},
    }


def main():
    binary, n = sys.argv[1], int(sys.argv[2])
    if sys.argv[3:] == ["load"]:
        product = load_product
    else:
        product = lambda i: {"name": f"Product {i}", "number": f"P-{i}"}
    sink = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    directory = tempfile.mkdtemp()
    db = os.path.join(directory, "storage.db")
    port = free_port()
    server = subprocess.Popen([binary, "--database", f"sqlite://{db}", "--listen", f"127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    root = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    token = call("PUT", f"{root}/v2/token/session/:create?consumerToken=local-consumer-token"
                 "&employeeToken=local-employee-token&expirationDate=2099-01-01")["value"]["token"]
    sink_url = f"http://127.0.0.1:{sink.server_address[1]}/hook"
    call("POST", f"{root}/v2/event/subscription", token, {"event": "product.create", "targetUrl": sink_url})
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: call("POST", f"{root}/v2/product", token, product(i)), range(n)))
    deadline = time.time() + 300
    while time.time() < deadline:
        log = call("GET", f"{root}/_emulator/deliveries?status=delivered&count=1", token)
        delivered = log.get("fullResultSize", len(log.get("value") or []))
        if delivered >= n:
            break
        time.sleep(0.5)
    else:
        sys.exit(f"only {delivered} of {n} delivered")
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=60)
    import sqlite3
    connection = sqlite3.connect(db)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pages = connection.execute("PRAGMA page_count").fetchone()[0]
    free = connection.execute("PRAGMA freelist_count").fetchone()[0]
    page_size = connection.execute("PRAGMA page_size").fetchone()[0]
    tables = {}
    try:
        for name, size in connection.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
            tables[name] = size
    except sqlite3.Error:
        pass
    connection.close()
    print(n, (pages - free) * page_size, json.dumps(tables, sort_keys=True))


main()
