"""The installed environment: a working torch + torchvision pair and the package itself."""

import torch
import torchvision

import condensekit


def test_torchvision_imports_with_matching_torch():
    # A torchvision built against another torch fails on its compiled operators, so run one.
    boxes = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]])
    keep = torchvision.ops.nms(boxes, torch.tensor([0.9, 0.8]), 0.5)
    assert keep.tolist() == [0]


def test_torchvision_model_builds_without_download():
    net = torchvision.models.get_model("resnet18", weights=None, num_classes=10).eval()
    assert net(torch.zeros(1, 3, 32, 32)).shape == (1, 10)


def test_public_api():
    assert {"dm", "random"} <= set(condensekit.list_methods())
    assert {"convnet", "mlp"} <= set(condensekit.list_models())
    assert condensekit.__version__


def test_console_command_is_installed():
    import shutil
    import subprocess
    import sys
    from importlib.metadata import entry_points
    from pathlib import Path

    (entry,) = [e for e in entry_points(group="console_scripts") if e.name == "condensekit"]
    assert entry.value == "condensekit.cli:main"
    command = shutil.which("condensekit", path=str(Path(sys.executable).parent))
    assert command, "the condensekit command is not on PATH next to this Python"
    out = subprocess.run([command, "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"condensekit {condensekit.__version__}"
