-- plans.components now holds the published components in their proto JSON form
-- (tally.rating.v1.PriceComponent), mapped to prices on read by @tally/plan-pricing — the one
-- mapping rating prices with. A row in the earlier hand-made shape is refused on read (an error
-- naming the plan), never priced 0: republish such a plan version from rating.
COMMENT ON COLUMN plans.components IS 'tally.rating.v1.PriceComponent[] as proto JSON, mapped by @tally/plan-pricing on read';
