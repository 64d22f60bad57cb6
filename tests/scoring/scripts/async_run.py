"""async def run: awaited on the server's event loop."""
import asyncio
import json


def init():
    pass


async def run(raw_data):
    data = json.loads(raw_data)
    await asyncio.sleep(float(data.get("sleep", 0)))
    return {"async": True, "echo": data}
