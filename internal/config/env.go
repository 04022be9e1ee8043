package config

import (
	"encoding"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// EnvPrefix prefixes every environment override.
const EnvPrefix = "MOPUSH_"

// applyEnv sets fields from MOPUSH_<SECTION>_<FIELD> variables, named after
// the TOML keys.
func applyEnv(c *Config, env []string) error {
	vars := map[string]string{}
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(k, EnvPrefix) {
			vars[k] = v
		}
	}
	root := reflect.ValueOf(c).Elem()
	for i := range root.NumField() {
		section := tomlName(root.Type().Field(i))
		sv := root.Field(i)
		for j := range sv.NumField() {
			f := sv.Type().Field(j)
			name := EnvPrefix + strings.ToUpper(section+"_"+tomlName(f))
			v, ok := vars[name]
			if !ok || !f.IsExported() {
				continue
			}
			if err := setField(sv.Field(j), v); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	return nil
}

func tomlName(f reflect.StructField) string {
	if n, _, _ := strings.Cut(f.Tag.Get("toml"), ","); n != "" {
		return n
	}
	return strings.ToLower(f.Name)
}

var durationType = reflect.TypeOf(time.Duration(0))

func setField(f reflect.Value, v string) error {
	if u, ok := f.Addr().Interface().(encoding.TextUnmarshaler); ok {
		return u.UnmarshalText([]byte(v))
	}
	if f.Type() == durationType {
		d, err := time.ParseDuration(v)
		if err != nil {
			return err
		}
		f.SetInt(int64(d))
		return nil
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(v)
	case reflect.Slice:
		if f.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("not settable from the environment (kind %s); use the config file", f.Kind())
		}
		var parts []string
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		f.Set(reflect.ValueOf(parts))
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return err
		}
		f.SetInt(n)
	case reflect.Bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return err
		}
		f.SetBool(b)
	default:
		return fmt.Errorf("not settable from the environment (kind %s); use the config file", f.Kind())
	}
	return nil
}
