import { Type } from 'class-transformer';
import { IsIn, IsInt, IsString, Length, Matches, Max, Min } from 'class-validator';

const URL_RULE = /^https?:\/\/[^\s/]+(\/[^\s]*)?$/;
const urlMessage = { message: 'must be an http:// or https:// URL' };

/** Settings of the demo shop; every one has a working default for `npm start`. */
export class StorefrontDemoEnv {
  @Type(() => Number) @IsInt() @Min(0) @Max(65535)
  PORT: number = 8080;

  @IsString()
  HOST: string = '0.0.0.0';

  /** The shop's API key for the storefront API: stays on this server, never sent to the page. */
  @Length(8, 256)
  API_KEY: string = 'demo-key';

  /** The storefront API as the shop backend reaches it (and the browser, unless PUBLIC_ORDERS_API_URL says otherwise). */
  @Matches(URL_RULE, urlMessage)
  ORDERS_API_URL: string = 'http://localhost:3000';

  /** The payment gateway simulator (its PUT /control makes it slow, flaky or down). */
  @Matches(URL_RULE, urlMessage)
  GATEWAY_URL: string = 'http://localhost:4000';

  /** The dev mail catcher's HTTP API (the order's emails; the page links to them via PUBLIC_MAIL_URL or this). */
  @Matches(URL_RULE, urlMessage)
  MAIL_URL: string = 'http://localhost:8025';

  /** The storefront API as the shopper's browser reaches it, when that differs from ORDERS_API_URL (containers); empty: the same. */
  @Matches(new RegExp(`^$|${URL_RULE.source}`), urlMessage)
  PUBLIC_ORDERS_API_URL: string = '';

  /** The mail catcher as the browser reaches it, when that differs from MAIL_URL; empty: the same. */
  @Matches(new RegExp(`^$|${URL_RULE.source}`), urlMessage)
  PUBLIC_MAIL_URL: string = '';

  @IsIn(['error', 'warn', 'info', 'debug'])
  LOG_LEVEL: string = 'info';
}
