"""Downloads against a local HTTP server (127.0.0.1, random port): verified,
atomic, cached; never the real network."""
import gzip
import hashlib
import http.server
import io
import os
import tarfile
import threading

import numpy as np
import pytest

from neuronet.data.datasets import CIFAR10, CIFAR100, MNIST
from neuronet.data.download import ChecksumError, DownloadError, download_url


class Server:
    """Serves ``files`` (name -> bytes). ``modes[name]``: 'short' sends the full
    Content-Length but only half the body then closes; 'corrupt' flips a byte."""

    def __init__(self, files):
        self.files, self.modes, self.hits = dict(files), {}, []
        srv = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                name = self.path.lstrip("/").split("/")[-1]
                srv.hits.append(name)
                body = srv.files.get(name)
                if body is None:
                    self.send_error(404)
                    return
                mode = srv.modes.get(name)
                if mode == "corrupt":
                    body = bytes([body[0] ^ 0xFF]) + body[1:]
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if mode == "short":
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/data/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def idx_gz(arr):
    arr = np.asarray(arr, dtype=np.uint8)
    head = bytes([0, 0, 8, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return gzip.compress(head + arr.tobytes(), mtime=0)


def md5(b):
    return hashlib.md5(b).hexdigest()


@pytest.fixture
def mnist_files():
    r = np.random.default_rng(0)
    files = {}
    truth = {}
    for split, n in (("train", 6), ("t10k", 3)):
        imgs = r.integers(0, 256, (n, 28, 28))
        labels = r.integers(0, 10, n)
        files[f"{split}-images-idx3-ubyte.gz"] = idx_gz(imgs)
        files[f"{split}-labels-idx1-ubyte.gz"] = idx_gz(labels)
        truth[split] = (imgs, labels)
    return files, truth


def local_mnist(server, files, name="MNIST"):
    return type(name, (MNIST,), {"mirrors": [server.url],
                                 "resources": [(n, md5(b)) for n, b in files.items()]})


def leftovers(folder):
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def test_download_verifies_and_then_uses_cache(tmp_path, monkeypatch, mnist_files):
    files, truth = mnist_files
    monkeypatch.setenv("NEURONET_DATA", str(tmp_path))
    server = Server(files)
    cls = local_mnist(server, files)
    try:
        ds = cls(root=None, train=True, download=True, )
    finally:
        server.stop()
    np.testing.assert_array_equal(ds.data, truth["train"][0])
    np.testing.assert_array_equal(ds.targets, truth["train"][1])
    raw = tmp_path / "MNIST" / "raw"
    assert leftovers(raw) == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    assert sorted(server.hits) == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    # server stopped: a second call reads the cache and never touches the network
    again = cls(root=None, train=True, download=True)
    np.testing.assert_array_equal(again.data, ds.data)
    assert len(server.hits) == 2


def test_corrupted_payload_fails_checksum_and_leaves_nothing(tmp_path, mnist_files):
    files, _ = mnist_files
    server = Server(files)
    server.modes["train-labels-idx1-ubyte.gz"] = "corrupt"
    try:
        with pytest.raises(ChecksumError, match=r"train-labels-idx1-ubyte.gz.*MD5"):
            local_mnist(server, files)(root=tmp_path, download=True)
    finally:
        server.stop()
    # the good file is kept, the corrupt one (and any temporary) is not
    assert leftovers(tmp_path / "MNIST" / "raw") == ["train-images-idx3-ubyte.gz"]


def test_interrupted_transfer_leaves_no_partial_file(tmp_path, mnist_files):
    files, _ = mnist_files
    server = Server(files)
    server.modes["train-images-idx3-ubyte.gz"] = "short"
    try:
        with pytest.raises(DownloadError, match="train-images-idx3-ubyte.gz"):
            local_mnist(server, files)(root=tmp_path, download=True)
        # the bare function, without a checksum: the short body is caught by Content-Length
        with pytest.raises(DownloadError, match="interrupted|IncompleteRead"):
            download_url(server.url + "train-images-idx3-ubyte.gz", tmp_path / "x.gz")
    finally:
        server.stop()
    assert leftovers(tmp_path / "MNIST" / "raw") == []
    assert not (tmp_path / "x.gz").exists()
    assert [p for p in os.listdir(tmp_path) if p.endswith(".part")] == []


def test_offline_error_says_which_files_to_place_where(tmp_path, mnist_files):
    files, _ = mnist_files
    server = Server({})
    dead = server.url
    server.stop()                                  # nothing listens there any more
    cls = type("MNIST", (MNIST,), {"mirrors": [dead], "resources": [(n, md5(b)) for n, b in files.items()]})
    with pytest.raises(DownloadError) as e:
        cls(root=tmp_path, train=False, download=True)
    msg = str(e.value)
    assert str(tmp_path / "MNIST" / "raw") in msg
    assert "t10k-images-idx3-ubyte.gz" in msg and "t10k-labels-idx1-ubyte.gz" in msg
    assert leftovers(tmp_path / "MNIST" / "raw") == []


def test_mirror_env_var_is_tried_first(tmp_path, monkeypatch, mnist_files):
    files, truth = mnist_files
    server = Server(files)
    try:
        cls = type("MNIST", (MNIST,), {"mirrors": ["http://127.0.0.1:9/nothing/"],
                                       "resources": [(n, md5(b)) for n, b in files.items()]})
        monkeypatch.setenv("NEURONET_MIRROR_MNIST", server.url)
        ds = cls(root=tmp_path, train=False, download=True)
    finally:
        server.stop()
    np.testing.assert_array_equal(ds.targets, truth["t10k"][1])


def test_sha256_verification(tmp_path):
    server = Server({"f.bin": b"hello world"})
    try:
        good = hashlib.sha256(b"hello world").hexdigest()
        download_url(server.url + "f.bin", tmp_path / "f.bin", sha256=good)
        assert (tmp_path / "f.bin").read_bytes() == b"hello world"
        with pytest.raises(ChecksumError, match="SHA-256"):
            download_url(server.url + "f.bin", tmp_path / "g.bin", sha256="0" * 64)
        assert not (tmp_path / "g.bin").exists()
    finally:
        server.stop()


def tar_gz(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def cifar_bytes(n, label_bytes, seed, n_fine=10):
    r = np.random.default_rng(seed)
    labels = np.stack([r.integers(0, 20, n), r.integers(0, n_fine, n)], 1)[:, -label_bytes:]
    pixels = r.integers(0, 256, (n, 3072))
    return np.concatenate([labels, pixels], 1).astype(np.uint8).tobytes(), labels[:, -1]


def test_cifar10_archive_download_and_safe_extraction(tmp_path):
    members, truth = {}, []
    for i, name in enumerate([f"data_batch_{k}.bin" for k in range(1, 6)] + ["test_batch.bin"]):
        raw, fine = cifar_bytes(3, 1, i)
        members[f"cifar-10-batches-bin/{name}"] = raw
        truth.append(fine)
    members["cifar-10-batches-bin/batches.meta.txt"] = "\n".join("c%d" % i for i in range(10)).encode()
    members["../escape.bin"] = b"must not be written"
    archive = tar_gz(members)
    server = Server({"cifar-10-binary.tar.gz": archive})
    cls = type("CIFAR10", (CIFAR10,), {"mirrors": [server.url],
                                       "archive": ("cifar-10-binary.tar.gz", md5(archive))})
    try:
        ds = cls(root=tmp_path / "root", train=True, download=True)
    finally:
        server.stop()
    assert len(ds) == 15
    np.testing.assert_array_equal(ds.targets, np.concatenate(truth[:5]))
    assert ds.classes == ["c%d" % i for i in range(10)]
    assert not (tmp_path / "escape.bin").exists()
    assert len(cls(root=tmp_path / "root", train=False, download=True)) == 3   # from the cache


def test_cifar100_archive_download(tmp_path):
    raw_train, fine = cifar_bytes(4, 2, 0, n_fine=100)
    archive = tar_gz({"cifar-100-binary/train.bin": raw_train,
                      "cifar-100-binary/test.bin": cifar_bytes(2, 2, 1, n_fine=100)[0]})
    server = Server({"cifar-100-binary.tar.gz": archive})
    cls = type("CIFAR100", (CIFAR100,), {"mirrors": [server.url],
                                         "archive": ("cifar-100-binary.tar.gz", md5(archive))})
    try:
        ds = cls(root=tmp_path, download=True)
    finally:
        server.stop()
    np.testing.assert_array_equal(ds.targets, fine)
