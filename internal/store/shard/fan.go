package shard

import (
	"context"
	"sync"
)

// Fan calls fn once for each shard whose group of positions is not empty,
// all at once, and waits for every call. It returns the errors by shard
// index: nil where fn succeeded or had nothing to do. A failing shard does
// not cancel the others. fn must write only to the result positions it is
// given, so that concurrent calls never touch the same element.
func Fan(ctx context.Context, groups [][]int, fn func(ctx context.Context, shard int, pos []int) error) []error {
	errs := make([]error, len(groups))
	first := -1
	var wg sync.WaitGroup
	for s, pos := range groups {
		if len(pos) == 0 {
			continue
		}
		if first < 0 {
			first = s
			continue
		}
		wg.Go(func() { errs[s] = fn(ctx, s, pos) })
	}
	if first >= 0 {
		errs[first] = fn(ctx, first, groups[first])
	}
	wg.Wait()
	return errs
}
