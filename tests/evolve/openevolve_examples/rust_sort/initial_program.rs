// Sorting routine evolved for speed; the benchmark in bench/src/main.rs calls sort_batch.

// EVOLVE-BLOCK-START
const SMALL: usize = 16;

fn insertion(values: &mut [i64]) {
    for i in 1..values.len() {
        let mut j = i;
        while j > 0 && values[j - 1] > values[j] {
            values.swap(j - 1, j);
            j -= 1;
        }
    }
}

fn quick(values: &mut [i64]) {
    if values.len() <= SMALL {
        insertion(values);
        return;
    }
    let pivot = values[(values.len() - 1) / 2];
    let (mut left, mut right) = (0usize, values.len() - 1);
    loop {
        while values[left] < pivot {
            left += 1;
        }
        while values[right] > pivot {
            right -= 1;
        }
        if left >= right {
            break;
        }
        values.swap(left, right);
        left += 1;
        right -= 1;
    }
    let (low, high) = values.split_at_mut(right + 1);
    quick(low);
    quick(high);
}

pub fn sort_values(values: &mut [i64]) {
    quick(values);
}
// EVOLVE-BLOCK-END

pub fn sort_batch(batch: &mut [Vec<i64>]) {
    for values in batch.iter_mut() {
        sort_values(values);
    }
}
