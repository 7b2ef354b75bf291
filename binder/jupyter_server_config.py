# Jupyter Server settings for rtnb.
#
# Kernel websocket messages are small and frequent when audio streams to the
# browser (20-40 ms chunks). With Nagle's algorithm on, the kernel → browser hop
# waits for ACKs and adds tens of milliseconds; TCP_NODELAY sends each message
# at once. benchmarks/browser_audio_delay.py measures the difference.
from jupyter_server.services.kernels.websocket import KernelWebsocketHandler

_open = KernelWebsocketHandler.open


async def _open_without_nagle(self, *args, **kwargs):
    self.set_nodelay(True)
    return await _open(self, *args, **kwargs)


KernelWebsocketHandler.open = _open_without_nagle
