"""The collapse statistics and the frozen-feature k-NN on features whose
answer is known."""
import pytest
import torch

from tscae_mm.evaluation import effective_rank, knn_accuracy, mean_offdiag_cos


def test_collapsed_features_have_cosine_one_and_rank_one():
    direction = torch.randn(8)
    collapsed = direction.expand(16, 8) * torch.rand(16, 1).add(0.5)
    assert mean_offdiag_cos(collapsed) == pytest.approx(1.0, abs=1e-6)
    assert effective_rank(collapsed) == pytest.approx(1.0, abs=1e-3)


def test_orthogonal_features_have_cosine_zero_and_full_rank():
    features = torch.eye(6)
    assert mean_offdiag_cos(features) == pytest.approx(0.0, abs=1e-6)
    # centred, 6 one-hot rows span 5 directions with equal weight
    assert effective_rank(features) == pytest.approx(5.0, rel=1e-3)


def test_knn_finds_the_class_of_separated_clusters():
    generator = torch.Generator().manual_seed(0)
    centres = torch.eye(3) * 10
    labels = torch.arange(3).repeat_interleave(10)
    train = centres[labels] + torch.randn(30, 3, generator=generator)
    test = centres[labels] + torch.randn(30, 3, generator=generator)
    assert knn_accuracy(train, labels, test, labels, k=5) == 100.0
    with pytest.raises(ValueError, match='k=31 exceeds the 30'):
        knn_accuracy(train, labels, test, labels, k=31)
