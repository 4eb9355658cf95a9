"""The seeded comparison of the study (tscae_study.comparison): means,
spreads, verdicts and degradation drops computed from per-seed entries."""
import pytest

from tscae_study import (
    Setting,
    build_comparison,
    compare,
    comparison_table,
    degradation_drops,
    drop_table,
    drop_verdict,
    seed_of,
    summarise,
    verdict,
)


def entry(label, method, images, seed, knn, linear, ft=None, seconds=None,
          epochs=6):
    return dict(label=label, method=method, images=images, seed=seed,
                pretrain_epochs=epochs, knn_top1=knn, linear_top1=linear,
                finetune_top1=ft, pretrain_seconds=seconds)


ENTRIES = {
    'random_init': entry('random init', 'random_init', '-', 0, 29., 41.,
                         epochs=None),
    'random_init-seed1': entry('random init', 'random_init', '-', 1, 28.,
                               40., epochs=None),
    'mae': entry('MAE', 'mae', 'clean', 0, 34., 48., 38., 600.),
    'mae-seed1': entry('MAE', 'mae', 'clean', 1, 33., 47., None, 660.),
    'tscae_recommended': entry('TSCAE rec', 'tscae_recommended', 'clean', 0,
                               36., 47.5, 37., 1200.),
    'tscae_recommended-seed1': entry('TSCAE rec', 'tscae_recommended',
                                     'clean', 1, 35.5, 46., 36., 1260.),
    'mae_blur4': entry('MAE', 'mae', 'blur4', 0, 30., 44.),
    'mae_blur4-seed1': entry('MAE', 'mae', 'blur4', 1, 31., 45.),
    'tscae_recommended_blur4': entry('TSCAE rec', 'tscae_recommended',
                                     'blur4', 0, 35., 47.),
    'tscae_recommended_blur4-seed1': entry('TSCAE rec', 'tscae_recommended',
                                           'blur4', 1, 35., 45.5),
    'screen_x': entry('screened', 'tscae_x', 'clean', 0, 1., 2., epochs=3),
}
SETTINGS = [
    Setting('random_init'),
    Setting('mae'),
    Setting('tscae_recommended', recommended=True),
    Setting('mae_equal_time', equal_time=True),  # not run: left out
    Setting('mae_blur4'),
    Setting('tscae_recommended_blur4'),
]


def test_seed_of_and_summarise():
    assert seed_of('mae') == ('mae', 0)
    assert seed_of('mae_blur4-seed12') == ('mae_blur4', 12)
    assert seed_of('run-seedling') == ('run-seedling', 0)
    assert summarise([]) == dict(mean=None, spread=None, min=None, max=None)
    assert summarise([46., 48., 47.]) == dict(mean=47., spread=2., min=46.,
                                              max=48.)


def test_comparison_groups_seeds_per_setting():
    records = build_comparison(ENTRIES, SETTINGS)
    assert [r['setting'] for r in records] == [
        'random_init', 'mae', 'tscae_recommended', 'mae_blur4',
        'tscae_recommended_blur4'
    ]
    mae = records[1]
    assert mae['seeds'] == [0, 1]
    assert mae['knn_top1_mean'] == pytest.approx(33.5)
    assert mae['knn_top1_spread'] == pytest.approx(1.)
    assert mae['linear_top1_values'] == [48., 47.]
    # a seed without a fine-tuning result: the mean is over the others
    assert mae['finetune_top1_values'] == [38., None]
    assert mae['finetune_top1_mean'] == 38.
    assert mae['finetune_top1_spread'] == 0
    assert mae['pretrain_minutes_mean'] == pytest.approx(10.5)
    assert [r['recommended'] for r in records] == [False, False, True, False,
                                                   False]
    assert records[0]['pretrain_minutes_mean'] is None


def test_comparison_refuses_inconsistent_seeds_and_two_recommended():
    bad = dict(ENTRIES, **{'mae-seed2': dict(ENTRIES['mae'], seed=0)})
    with pytest.raises(ValueError, match='mae-seed2'):
        build_comparison(bad, SETTINGS)
    with pytest.raises(ValueError, match='recommended'):
        build_comparison(ENTRIES, [Setting('mae', recommended=True),
                                   Setting('tscae_recommended',
                                           recommended=True)])


def test_verdict_says_whether_the_ranges_overlap():
    by = {r['setting']: r for r in build_comparison(ENTRIES, SETTINGS)}
    rec, mae = by['tscae_recommended'], by['mae']
    # k-NN: 35.5-36 vs 33-34, apart
    assert compare(rec, mae, 'knn_top1')['outside_spread']
    line = verdict(rec, mae, 'knn_top1', 'k-NN')
    assert '+2.25' in line and 'TSCAE rec higher' in line and \
        'outside the spread' in line
    # linear: 46-47.5 vs 47-48 overlap
    line = verdict(rec, mae, 'linear_top1', 'linear')
    assert 'MAE higher' in line and 'inside the spread' in line
    # fine-tune: one seed of MAE only
    assert 'no spread' in verdict(rec, mae, 'finetune_top1', 'ft')
    assert 'not measured' in verdict(by['mae_blur4'], mae, 'finetune_top1',
                                     'ft')


def test_degradation_drops_pair_each_method_with_its_clean_run():
    records = build_comparison(ENTRIES, SETTINGS)
    drops = {d['method']: d for d in degradation_drops(records)}
    assert set(drops) == {'mae', 'tscae_recommended'}
    mae, rec = drops['mae'], drops['tscae_recommended']
    assert mae['linear_top1_change'] == pytest.approx(44.5 - 47.5)
    # per-seed differences range over [44 - 48, 45 - 47]
    assert (mae['linear_top1_change_min'],
            mae['linear_top1_change_max']) == (-4., -2.)
    assert rec['linear_top1_change'] == pytest.approx(46.25 - 46.75)
    # rec: [45.5 - 47.5, 47 - 46] = [-2, 1] touches MAE's [-4, -2]
    line = drop_verdict(rec, mae, 'linear_top1', 'linear')
    assert 'TSCAE rec loses less' in line and 'inside the spread' in line
    # k-NN: rec -0.75 in [-1, -0.5]; MAE -3 in [-4, -2]: apart
    assert 'outside the spread' in drop_verdict(rec, mae, 'knn_top1', 'knn')
    table = drop_table(list(drops.values()), {'blur4': 'Gaussian blur'})
    assert '| MAE | Gaussian blur | -3.00 (1.00 / 1.00) |' in table


def test_comparison_table_shows_mean_and_range():
    table = comparison_table(build_comparison(ENTRIES, SETTINGS))
    assert '| MAE | clean | 6 | 0, 1 | 33.50 (33.00-34.00) |' in table
    assert '(recommended)' in table
    assert table.count('\n') == 1 + 5
