package registry

import (
	"reflect"
	"testing"
	"time"

	"github.com/smki/smki/bundle"
	"github.com/smki/smki/bundle/policy"
	"github.com/smki/smki/eui64"
)

func TestMergeRegistrations(t *testing.T) {
	t.Parallel()
	now := regTestStart
	a, b, c := eui64.MustParse("90-B3-D5-1F-30-05-00-01"), eui64.MustParse("90-B3-D5-1F-30-05-00-02"), eui64.MustParse("90-B3-D5-1F-30-05-00-03")
	reg := func(u eui64.ID, from time.Time) bundle.Registration {
		return bundle.Registration{Capacity: policy.NetworkOperator, User: u, From: from}
	}
	exp := bundle.Registration{Capacity: policy.ExportSupplier, User: c}
	tests := []struct {
		name     string
		old, add []bundle.Registration
		want     []bundle.Registration
	}{
		{"first", nil, []bundle.Registration{reg(a, time.Time{})}, []bundle.Registration{reg(a, time.Time{})}},
		{"nothing added", []bundle.Registration{reg(a, time.Time{})}, nil, []bundle.Registration{reg(a, time.Time{})}},
		{"immediate replaces", []bundle.Registration{reg(a, time.Time{}), exp}, []bundle.Registration{reg(b, time.Time{})}, []bundle.Registration{exp, reg(b, time.Time{})}},
		{"future keeps the current until then", []bundle.Registration{reg(a, time.Time{})}, []bundle.Registration{reg(b, now.Add(time.Hour))},
			[]bundle.Registration{reg(a, time.Time{}), reg(b, now.Add(time.Hour))}},
		{"past supersedes", []bundle.Registration{reg(a, time.Time{})}, []bundle.Registration{reg(b, now.Add(-time.Hour))},
			[]bundle.Registration{reg(b, now.Add(-time.Hour))}},
		{"a later future one is replaced", []bundle.Registration{reg(a, time.Time{}), reg(b, now.Add(2*time.Hour))}, []bundle.Registration{reg(c, now.Add(time.Hour))},
			[]bundle.Registration{reg(a, time.Time{}), reg(c, now.Add(time.Hour))}},
	}
	for _, tc := range tests {
		got, err := mergeRegistrations(tc.old, tc.add, now)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
	var many []bundle.Registration
	for i := range bundle.MaxRegistrations + 1 {
		many = append(many, reg(a, now.Add(time.Duration(i+1)*time.Hour)))
	}
	if _, err := mergeRegistrations(nil, many, now); err == nil {
		t.Error("more than MaxRegistrations accepted")
	}
}

var regTestStart = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
