/**
 * @tally/pricing — turns quantities into exact, explained money. Pure: no I/O, no clock.
 * See ../README.md for the models, the tier-bound convention and the rounding contract.
 */
export {
  Decimal,
  MAX_SCALE,
  MAX_DIGITS,
  MAX_INTEGER_DIGITS,
  ROUNDING_MODE,
  parseDecimal,
  toMaxScale,
  toWire,
} from "./decimal";
export {
  DecimalFormatError,
  PriceValidationError,
  UnknownCurrencyError,
  type DecimalFormatCode,
  type PriceValidationCode,
  type PriceValidationIssue,
} from "./errors";
export {
  INCLUDED_TIER_INDEX,
  type DimensionalPrice,
  type DimensionalPricedAmount,
  type DimensionalPricer,
  type Price,
  type PriceLine,
  type PriceLineKind,
  type PriceModel,
  type PriceModelKind,
  type PricedAmount,
  type Pricer,
  type Tier,
  type TierCrossing,
  type TierPosition,
} from "./types";
export { validatePrice, validateDimensionalPrice } from "./validation";
export { createPricer } from "./create-pricer";
export { createDimensionalPricer } from "./dimensional-pricer";
export {
  SUPPORTED_CURRENCIES,
  isSupportedCurrency,
  minorUnitDigits,
  roundAmount,
  roundToMinorUnit,
  type RoundedAmount,
} from "./rounding";
