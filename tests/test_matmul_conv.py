"""Convolutions of small maps as matmuls: the same values and gradients as torch's, used where the weight
dwarfs the map."""
import pytest
import torch
import torch.nn.functional as F

from world_models import SimPLeModelConfig
from world_models.simple import layers, matmul_conv
from world_models.simple.network import SimPLeNetwork

LAYERS = [  # in channels, out channels, map height, width, kernel, stride, padding
    (3, 5, 7, 5, 4, 2, 1), (4, 4, 2, 2, 3, 1, 1), (3, 2, 6, 4, 4, 2, 1), (2, 3, 5, 5, 3, 2, 0)]


@pytest.mark.parametrize("layer", LAYERS)
def test_matmul_conv_is_conv2d_in_value_and_gradients(layer):
    c_in, c_out, h, w, k, s, p = layer
    torch.manual_seed(0)
    x = torch.randn(2, c_in, h, w, dtype=torch.float64).to(memory_format=torch.channels_last).requires_grad_()
    weight = torch.randn(c_out, c_in, k, k, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(c_out, dtype=torch.float64, requires_grad=True)
    y = matmul_conv.conv2d(x, weight, bias, (s, s), (p, p))
    torch.testing.assert_close(y, F.conv2d(x, weight, bias, s, p))
    assert y.is_contiguous(memory_format=torch.channels_last)
    assert torch.autograd.gradcheck(lambda *a: matmul_conv.conv2d(*a, (s, s), (p, p)), (x, weight, bias))


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("output_padding", [0, 1])
def test_matmul_conv_transpose_is_conv_transpose2d_in_value_and_gradients(layer, output_padding):
    c_in, c_out, h, w, k, s, p = layer
    if output_padding >= s:
        pytest.skip("output padding must be smaller than the stride")
    torch.manual_seed(0)
    x = torch.randn(2, c_in, h, w, dtype=torch.float64).to(memory_format=torch.channels_last).requires_grad_()
    weight = torch.randn(c_in, c_out, k, k, dtype=torch.float64).to(memory_format=torch.channels_last)
    bias = torch.randn(c_out, dtype=torch.float64, requires_grad=True)
    extra = (output_padding, output_padding)
    y = matmul_conv.conv_transpose2d(x, weight.requires_grad_(), bias, (s, s), (p, p), extra)
    torch.testing.assert_close(y, F.conv_transpose2d(x, weight, bias, s, p, output_padding))
    assert y.is_contiguous(memory_format=torch.channels_last)
    assert torch.autograd.gradcheck(lambda *a: matmul_conv.conv_transpose2d(*a, (s, s), (p, p), extra),
                                    (x, weight, bias))


def test_weight_bound_takes_the_paper_sizes_low_resolution_layers_at_batch_16():
    conv = torch.nn.Conv2d(768, 768, 4, stride=2, padding=1)
    assert matmul_conv.weight_bound(conv, torch.empty(16, 768, 14, 10))  # 16 x 7 x 5 = 560 rows <= 768
    assert not matmul_conv.weight_bound(conv, torch.empty(16, 768, 28, 20))  # 2,240 rows
    assert not matmul_conv.weight_bound(conv, torch.empty(16, 768, 14, 10, device="meta"))  # CPU only
    deconv = torch.nn.ConvTranspose2d(768, 384, 4, stride=2, padding=1)
    assert matmul_conv.weight_bound(deconv, torch.empty(16, 768, 7, 5))  # the input is the small side here
    assert not matmul_conv.weight_bound(deconv, torch.empty(16, 768, 14, 10))
    grouped = torch.nn.Conv2d(768, 768, 3, padding=1, groups=2)
    assert not matmul_conv.weight_bound(grouped, torch.empty(1, 768, 2, 2))


def test_network_with_its_small_maps_as_matmuls_predicts_what_onednn_does(monkeypatch):
    config = SimPLeModelConfig(frame_height=16, frame_width=12, hidden=32, compress_steps=3, filter_double_steps=2,
                               latent_bits=8, prior_lstm_size=16, target_frames=1)
    torch.manual_seed(0)
    network = SimPLeNetwork(config, num_actions=3).eval()
    context = torch.randint(0, 256, (2, 4, 16, 12, 3), dtype=torch.uint8)
    target, action = torch.randint(0, 256, (2, 16, 12, 3), dtype=torch.uint8), torch.tensor([0, 2])
    used = []
    weight_bound = matmul_conv.weight_bound
    monkeypatch.setattr(matmul_conv, "weight_bound", lambda conv, x: used.append(weight_bound(conv, x)) or used[-1])
    out = network(context, action, target)
    assert sum(used) >= 3  # the 2x2 bottleneck's down step, its middle layers and the first up step
    monkeypatch.setattr(matmul_conv, "weight_bound", lambda conv, x: False)
    expected = network(context, action, target)
    torch.testing.assert_close(out.features, expected.features, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out.reward_logits, expected.reward_logits, atol=1e-5, rtol=1e-5)


def test_small_map_conv_falls_back_to_the_module_where_onednn_is_faster():
    conv = layers.with_bipolar_sign(torch.nn.Conv2d(3, 4, 3, padding=1))
    x = torch.randn(2, 3, 8, 8)
    assert torch.equal(layers.small_map_conv(conv, x), conv(x))


def test_matmul_convs_compile_in_one_graph_to_the_same_values_and_gradients():
    torch.manual_seed(0)
    x = torch.randn(2, 6, 4, 4).to(memory_format=torch.channels_last).requires_grad_()
    conv, deconv = torch.nn.Conv2d(6, 8, 3, padding=1), torch.nn.ConvTranspose2d(8, 6, 4, stride=2, padding=1)

    def down_up(x):
        y = matmul_conv.conv2d(x, conv.weight, conv.bias, conv.stride, conv.padding)
        return matmul_conv.conv_transpose2d(y, deconv.weight, deconv.bias, deconv.stride, deconv.padding)

    expected = deconv(conv(x))
    (expected_grad,) = torch.autograd.grad(expected.square().sum(), x)
    y = torch.compile(down_up, fullgraph=True)(x)  # fullgraph: the custom operators break no graph
    (grad,) = torch.autograd.grad(y.square().sum(), x)
    torch.testing.assert_close(y, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(grad, expected_grad, atol=1e-4, rtol=1e-5)


def test_patch_operators_pass_torch_library_opcheck():
    x = torch.randn(2, 3, 5, 4, dtype=torch.float64).to(memory_format=torch.channels_last).requires_grad_()
    torch.library.opcheck(torch.ops.world_models.patches, (x, [3, 3], [2, 1], [1, 0]))
    cols = torch.randn(2, 3, 2, 4, 4, 5, dtype=torch.float64, requires_grad=True)
    torch.library.opcheck(torch.ops.world_models.fold_patches, (cols, [6, 4], [2, 2], [1, 1]))
