-- Argo CD health of the tenant-object kinds of isc.identitynow.dev (IdentityProfile,
-- IdentityAttribute, Transform, LifecycleState), from the kstatus conditions the operator writes. Installed by argocd-cm.yaml beside this file (generated from it).
--   status.observedGeneration /= generation -> Progressing (the operator has not seen the edit)
--   Stalled=True                            -> Degraded (needs a change from a person)
--   Suspended=True                          -> Suspended (paused object or suspended Tenant)
--   Reconciling=True                        -> Progressing
--   Ready=True                              -> Healthy
--   anything else (no status yet, Ready=False) -> Progressing
-- Stalled comes before Suspended: a paused object that needs a person's change is Degraded
-- (as kstatus says Failed), and Argo CD ranks the application by its worst resource.
-- Only Lua's base library is used: Argo CD opens no string library for custom health scripts.
local function find(conditions, type)
  for _, c in ipairs(conditions) do
    if c.type == type and c.status == "True" then
      return c
    end
  end
  return nil
end

local function text(c)
  if c.message ~= nil and c.message ~= "" then
    return c.message
  end
  return c.reason or c.type
end

local status = obj.status
if status == nil or status.conditions == nil then
  return { status = "Progressing", message = "Waiting for the operator to reconcile the " .. obj.kind }
end
local generation = obj.metadata.generation
if generation ~= nil and status.observedGeneration ~= generation then
  return { status = "Progressing", message = "Waiting for the operator to observe generation " .. generation }
end
local stalled = find(status.conditions, "Stalled")
if stalled ~= nil then
  return { status = "Degraded", message = text(stalled) }
end
local suspended = find(status.conditions, "Suspended")
if suspended ~= nil then
  return { status = "Suspended", message = text(suspended) }
end
local reconciling = find(status.conditions, "Reconciling")
if reconciling ~= nil then
  return { status = "Progressing", message = text(reconciling) }
end
local ready = find(status.conditions, "Ready")
if ready ~= nil then
  return { status = "Healthy", message = text(ready) }
end
for _, c in ipairs(status.conditions) do
  if c.type == "Ready" then
    return { status = "Progressing", message = text(c) }
  end
end
return { status = "Progressing", message = "Waiting for the operator to reconcile the " .. obj.kind }
