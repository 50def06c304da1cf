ALTER TABLE "orders" ADD COLUMN "fees_unvalued" boolean GENERATED ALWAYS AS (jsonb_path_exists(fees, '$[*] ? (@.quoteValue == null)')) STORED NOT NULL;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "fees_retry_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "orders_unvalued_fees" ON "orders" USING btree ("fees_retry_at") WHERE fees_unvalued;