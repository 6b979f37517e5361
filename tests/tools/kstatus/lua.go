package main

// The Argo CD side: run a resource.customizations.health script like Argo CD's controller.
// Upstream (argoproj/argo-cd, util/lua/lua.go): VM.runLua opens only the package, base, table
// and a "safe" os library (SkipOpenLibs unless resource.customizations.useOpenLibs is set),
// bounds the run to one second, sets the global `obj` to decodeValue(obj.Object), runs the
// script, and ExecuteHealthLua encodes the returned table to JSON (layeh.com/gopher-json),
// decodes it into a HealthStatus and turns an unknown status code into Unknown with the
// message "Lua returned an invalid health status". The argo-cd module is not fetchable here,
// so this file reimplements those few steps; the scripts under deploy/argocd/ use none of
// the os library, so it is not opened (a script that calls it fails here, loudly).

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// validHealth is Argo CD's isValidHealthStatusCode.
var validHealth = map[string]bool{
	"Unknown": true, "Progressing": true, "Suspended": true,
	"Healthy": true, "Degraded": true, "Missing": true,
}

// invalidHealthStatus is Argo CD's message for a status code outside validHealth.
const invalidHealthStatus = "Lua returned an invalid health status"

func runHealthScript(scriptPath, objPath string) (verdict, error) {
	script, err := os.ReadFile(scriptPath)
	if err != nil {
		return verdict{}, fmt.Errorf("reading the script: %w", err)
	}
	obj, err := readObject(objPath)
	if err != nil {
		return verdict{}, err
	}
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
	} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return verdict{}, fmt.Errorf("opening the Lua library %q: %w", lib.name, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", decodeValue(l, obj.Object))
	if err := l.DoString(string(script)); err != nil {
		return verdict{}, fmt.Errorf("running %s: %w", scriptPath, err)
	}
	ret := l.Get(-1)
	table, ok := ret.(*lua.LTable)
	if !ok {
		return verdict{}, fmt.Errorf("expect table output from Lua script, not %s", ret.Type().String())
	}
	result, err := toGo(table)
	if err != nil {
		return verdict{}, fmt.Errorf("encoding the script's result: %w", err)
	}
	encoded, err := json.Marshal(result)
	if err != nil {
		return verdict{}, fmt.Errorf("encoding the script's result: %w", err)
	}
	var health verdict
	if err := json.Unmarshal(encoded, &health); err != nil {
		return verdict{}, fmt.Errorf("the script's result %s is not a health status: %w", encoded, err)
	}
	if !validHealth[health.Status] {
		return verdict{Status: "Unknown", Message: invalidHealthStatus}, nil
	}
	return health, nil
}

// decodeValue mirrors Argo CD's decodeValue (util/lua/lua.go, itself from layeh.com/gopher-json):
// maps become hash tables, slices array tables, numbers (float64 or the int64 of Unstructured)
// LNumber, json.Number a string, anything else nil.
func decodeValue(l *lua.LState, value interface{}) lua.LValue {
	switch converted := value.(type) {
	case bool:
		return lua.LBool(converted)
	case float64:
		return lua.LNumber(converted)
	case string:
		return lua.LString(converted)
	case json.Number:
		return lua.LString(converted)
	case int:
		return lua.LNumber(converted)
	case int32:
		return lua.LNumber(converted)
	case int64:
		return lua.LNumber(converted)
	case []interface{}:
		arr := l.CreateTable(len(converted), 0)
		for _, item := range converted {
			arr.Append(decodeValue(l, item))
		}
		return arr
	case map[string]interface{}:
		tbl := l.CreateTable(0, len(converted))
		for key, item := range converted {
			tbl.RawSetH(lua.LString(key), decodeValue(l, item))
		}
		return tbl
	}
	return lua.LNil
}

// toGo turns the script's result into plain Go values the way layeh.com/gopher-json's Encode
// does (Argo CD encodes the returned table with it): a table with MaxN() == 0 is an object
// whose keys must all be strings (an empty table is therefore `[]`, which no HealthStatus
// decodes from: an error, as in Argo CD); any other table is an array of its 1..MaxN values.
func toGo(value lua.LValue) (interface{}, error) {
	switch v := value.(type) {
	case *lua.LNilType:
		return nil, nil
	case lua.LBool:
		return bool(v), nil
	case lua.LNumber:
		return float64(v), nil
	case lua.LString:
		return string(v), nil
	case *lua.LTable:
		if n := v.MaxN(); n > 0 {
			arr := make([]interface{}, 0, n)
			for i := 1; i <= n; i++ {
				item, err := toGo(v.RawGetInt(i))
				if err != nil {
					return nil, err
				}
				arr = append(arr, item)
			}
			return arr, nil
		}
		obj := map[string]interface{}{}
		var err error
		v.ForEach(func(key, item lua.LValue) {
			if err != nil {
				return
			}
			s, ok := key.(lua.LString)
			if !ok {
				err = fmt.Errorf("cannot encode mixed or invalid key types")
				return
			}
			obj[string(s)], err = toGo(item)
		})
		if err != nil {
			return nil, err
		}
		if len(obj) == 0 {
			return []interface{}{}, nil
		}
		return obj, nil
	}
	return nil, fmt.Errorf("cannot encode %s to JSON", value.Type().String())
}
