"""A TCP proxy that delays what the server sends back, for tests/systest/redis.rs.

    python3 delay_proxy.py LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT DELAY_MS

A user-space stand-in for `tc netem delay` on the server's node, for kernels
built without sch_netem: every chunk the target sends is passed on DELAY_MS
later, in order, and chunks in flight overlap (a pipe, not a stop-and-wait),
so each request's round trip grows by DELAY_MS as it would over a slow link.
"""

import asyncio
import sys


async def pump(reader, writer, delay):
    """Copies reader to writer, each chunk `delay` seconds after it arrived."""
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def send():
        while True:
            due, data = await queue.get()
            await asyncio.sleep(max(0.0, due - loop.time()))
            if not data:
                break
            writer.write(data)
            await writer.drain()
        writer.close()

    sender = asyncio.create_task(send())
    try:
        while data := await reader.read(65536):
            queue.put_nowait((loop.time() + delay, data))
    except ConnectionError:
        pass
    queue.put_nowait((loop.time() + delay, b""))
    try:
        await sender
    except ConnectionError:
        pass


async def main(listen_host, listen_port, target_host, target_port, delay_ms):
    delay = int(delay_ms) / 1000

    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection(
                target_host, int(target_port)
            )
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            pump(client_reader, server_writer, 0.0),
            pump(server_reader, client_writer, delay),
        )

    server = await asyncio.start_server(handle, listen_host, int(listen_port))
    print(f"delay proxy listening on {listen_host}:{listen_port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
