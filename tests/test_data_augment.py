"""Batched device augmentations: shape and dtype kept, seeded, and each one doing what its name says."""

import pytest
import torch

from nnx.data import load
from nnx.data.augment import affine, build_augment, crop, flip, noise

ALL = ["flip", {"name": "crop", "padding": 2}, {"name": "affine", "degrees": 15, "translate": 0.1, "scale": 0.1},
       {"name": "rotate", "degrees": 10}, {"name": "noise", "std": 0.1}]


def batch(seed=0, shape=(16, 3, 12, 10)):
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed))


def generator(seed):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("spec", ALL, ids=lambda s: s if isinstance(s, str) else s["name"])
def test_each_keeps_shape_dtype_and_range_and_is_seeded(spec):
    augment = build_augment([spec])
    x = batch()
    out, again, other = augment(x, generator(1)), augment(x, generator(1)), augment(x, generator(2))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert out.min() >= 0 and out.max() <= 1
    assert torch.equal(out, again) and not torch.equal(out, other) and not torch.equal(out, x)


def test_flip_mirrors_the_chosen_images_only():
    x = batch()
    assert torch.equal(flip(x, generator(0), p=1.0), x.flip(3))
    assert torch.equal(flip(x, generator(0), p=0.0), x)
    mixed = flip(x, generator(0), p=0.5)
    flipped = [torch.equal(m, f) for m, f in zip(mixed, x.flip(3))]
    kept = [torch.equal(m, o) for m, o in zip(mixed, x)]
    assert all(a or b for a, b in zip(flipped, kept)) and 0 < sum(flipped) < len(x)


def test_crop_shifts_within_the_padding():
    x = batch(shape=(8, 1, 6, 6))
    assert torch.equal(crop(x, generator(0), padding=0), x)
    out = crop(x, generator(0), padding=1)
    for image, original in zip(out[:, 0], x[:, 0]):  # the shifted image shares a 4x4 block with the original
        padded = torch.nn.functional.pad(original, (1, 1, 1, 1))
        assert any(torch.equal(image, padded[dy:dy + 6, dx:dx + 6]) for dy in range(3) for dx in range(3))


def test_affine_without_motion_is_the_identity_and_noise_zero_is_too():
    x = batch()
    assert torch.allclose(affine(x, generator(0), degrees=0.0), x, atol=1e-5)
    assert torch.equal(noise(x, generator(0), std=0.0), x)


def test_rotation_keeps_distances_on_non_square_images():
    x = torch.zeros(16, 1, 21, 15)
    x[:, :, 9:12, 11:14] = 1.0  # a block 5 pixels right of the centre (10, 7)
    out = affine(x, generator(0), degrees=60)[:, 0]
    rows, cols = torch.meshgrid(torch.arange(21.0), torch.arange(15.0), indexing="ij")
    mass = out.sum((1, 2))
    dy, dx = (out * rows).sum((1, 2)) / mass - 10, (out * cols).sum((1, 2)) / mass - 7
    assert torch.allclose(torch.hypot(dy, dx), torch.full((16,), 5.0), atol=0.05)  # a shear would stretch it
    assert dy.abs().max() > 3  # and the angles really vary


def test_training_batches_are_augmented_evaluation_batches_are_not():
    plain = load({"name": "digits", "batch_size": 2000})
    augmented = load({"name": "digits", "batch_size": 2000, "augment": ALL})
    (x_plain, y_plain), = plain.batches("train", shuffle=False)
    (x_aug, y_aug), = augmented.batches("train", shuffle=False)
    assert torch.equal(y_plain, y_aug) and x_aug.shape == x_plain.shape and not torch.allclose(x_aug, x_plain)
    (x_test, _), = augmented.batches("test")
    assert torch.equal(x_test, plain.prepare(plain.test.x))
    reloaded = load({"name": "digits", "batch_size": 2000, "augment": ALL})
    assert torch.equal(next(reloaded.batches("train", shuffle=False))[0], x_aug)  # same seed, same augmentation
