CREATE TABLE "funding_payments" (
	"account_id" uuid NOT NULL,
	"payment_id" text NOT NULL,
	"symbol" text NOT NULL,
	"amount" numeric NOT NULL,
	"currency" text NOT NULL,
	"paid_at" timestamp with time zone NOT NULL,
	"position_id" uuid,
	CONSTRAINT "funding_payments_account_id_payment_id_pk" PRIMARY KEY("account_id","payment_id")
);
--> statement-breakpoint
ALTER TABLE "exchange_accounts" ADD COLUMN "funding_read_until" bigint;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "fees" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "positions" ADD COLUMN "funding" numeric DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "funding_payments" ADD CONSTRAINT "funding_payments_account_id_exchange_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."exchange_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "funding_payments_position" ON "funding_payments" USING btree ("position_id");--> statement-breakpoint
-- Fees per currency: each order's single fee becomes one charge, valued in the quote where its
-- currency says how (the quote itself; the base at the fill price); any other currency (BNB) at what
-- the book counted it as until now (its amount, as if quote), so figures already booked stay as they are.
UPDATE "orders" SET "fees" = jsonb_build_array(jsonb_build_object(
	'currency', coalesce("fee_currency", split_part(split_part("symbol", '/', 2), ':', 1)),
	'amount', "fee",
	'quoteValue', CASE
		WHEN "fee_currency" IS NULL OR upper("fee_currency") = upper(split_part(split_part("symbol", '/', 2), ':', 1)) THEN "fee"
		WHEN upper("fee_currency") = upper(split_part("symbol", '/', 1)) AND coalesce("average_price", "price") IS NOT NULL THEN "fee" * coalesce("average_price", "price")
		ELSE "fee"
	END
)) WHERE "fee" > 0;
--> statement-breakpoint
-- Exits now count in the day when they fill, and a close books only what was not booked before. An
-- open copied position has already realised its reduces on the row, never in the day: count them in
-- the day its latest reduce was booked.
INSERT INTO "daily_stats" ("account_id", "day", "realized_pnl")
SELECT p."account_id", (coalesce((SELECT max(o."updated_at") FROM "orders" o WHERE o."position_id" = p."id" AND o."reduce_only"), p."updated_at") AT TIME ZONE 'utc')::date AS "day", sum(p."realized_pnl")
FROM "positions" p WHERE p."status" = 'open' AND p."realized_pnl" <> 0 GROUP BY p."account_id", "day"
ON CONFLICT ("account_id", "day") DO UPDATE SET "realized_pnl" = "daily_stats"."realized_pnl" + excluded."realized_pnl";
