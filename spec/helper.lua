-- spec/helper.lua: shared by every spec (set in .busted).
local helper = {}

-- Where shared/ (the references) sits: beside the checkout.
helper.shared = os.getenv("GLS_SHARED") or "../shared"

return helper
