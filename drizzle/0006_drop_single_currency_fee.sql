ALTER TABLE "orders" DROP COLUMN "fee";--> statement-breakpoint
ALTER TABLE "orders" DROP COLUMN "fee_currency";